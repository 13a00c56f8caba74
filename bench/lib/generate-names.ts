/**
 * Name lists for the seeded data generator (`generate.ts`): family names from many origins, as a
 * city hospital's register shows them, and given names by gender. Plain data, written for this
 * benchmark. With about 370 family names drawn uniformly, `Patient?family=<name>` selects about 27
 * patients at 10,000 and about 270 at 100,000 (a few more where the name is the start of another,
 * e.g. Li / Lin: the search is starts-with).
 */

export const FAMILY_NAMES: readonly string[] = [
  // English, Scottish, Irish, Welsh
  'Smith', 'Johnson', 'Williams', 'Brown', 'Jones', 'Miller', 'Davis', 'Wilson', 'Anderson', 'Taylor',
  'Thomas', 'Moore', 'Martin', 'Jackson', 'Thompson', 'White', 'Harris', 'Clark', 'Lewis', 'Robinson',
  'Walker', 'Young', 'Allen', 'King', 'Wright', 'Scott', 'Hill', 'Green', 'Adams', 'Baker',
  'Nelson', 'Carter', 'Mitchell', 'Roberts', 'Turner', 'Phillips', 'Campbell', 'Parker', 'Evans', 'Edwards',
  'Collins', 'Stewart', 'Morris', 'Rogers', 'Reed', 'Cook', 'Morgan', 'Bell', 'Murphy', 'Bailey',
  'Cooper', 'Richardson', 'Cox', 'Howard', 'Ward', 'Peterson', 'Gray', 'Watson', 'Brooks', 'Kelly',
  'Sanders', 'Price', 'Bennett', 'Wood', 'Barnes', 'Ross', 'Henderson', 'Coleman', 'Jenkins', 'Perry',
  'Powell', 'Long', 'Patterson', 'Hughes', 'Washington', 'Butler', 'Simmons', 'Foster', 'Bryant', 'Alexander',
  'Russell', 'Griffin', 'Hayes', 'Myers', 'Ford', 'Hamilton', 'Graham', 'Sullivan', 'Wallace', 'Woods',
  'Cole', 'West', 'Jordan', 'Owens', 'Reynolds', 'Fisher', 'Ellis', 'Harrison', 'Gibson', 'McDonald',
  'Cruz', 'Marshall', 'Gordon', 'Kennedy', 'Wells', 'Webb', 'Hunter', 'Hicks', 'Palmer', 'Black',
  'Fraser', 'MacLeod', 'Buchanan', 'Docherty', 'Gallagher', "O'Brien", "O'Connor", 'Byrne', 'Doyle', 'Quinn',
  'Llewellyn', 'Pritchard', 'Vaughan', 'Bowen', 'Rhys',
  // German, Dutch, Scandinavian
  'Müller', 'Schmidt', 'Schneider', 'Fischer', 'Weber', 'Meyer', 'Wagner', 'Becker', 'Schulz', 'Hoffmann',
  'Koch', 'Richter', 'Klein', 'Wolf', 'Schröder', 'Neumann', 'Schwarz', 'Zimmermann', 'Braun', 'Krüger',
  'de Jong', 'Jansen', 'de Vries', 'van den Berg', 'Bakker', 'Visser', 'Smit', 'Mulder', 'Bos', 'Vos',
  'Hansen', 'Nielsen', 'Pedersen', 'Andersson', 'Johansson', 'Karlsson', 'Lindqvist', 'Berg', 'Haugen', 'Virtanen',
  // French, Italian, Spanish, Portuguese
  'Dubois', 'Lefebvre', 'Moreau', 'Laurent', 'Girard', 'Rousseau', 'Fournier', 'Mercier', 'Blanchard', 'Chevalier',
  'Rossi', 'Russo', 'Ferrari', 'Esposito', 'Bianchi', 'Romano', 'Colombo', 'Ricci', 'Marino', 'Greco',
  'Bruno', 'Gallo', 'Conti', 'De Luca', 'Mancini', 'García', 'Rodríguez', 'González', 'Fernández', 'López',
  'Martínez', 'Sánchez', 'Pérez', 'Gómez', 'Ramírez', 'Torres', 'Flores', 'Rivera', 'Morales', 'Ortiz',
  'Castillo', 'Jiménez', 'Vargas', 'Romero', 'Herrera', 'Medina', 'Aguilar', 'Mendoza', 'Silva', 'Santos',
  'Oliveira', 'Souza', 'Pereira', 'Costa', 'Carvalho', 'Almeida', 'Ribeiro', 'Barbosa',
  // Central and Eastern European, Greek, Turkish
  'Nowak', 'Kowalski', 'Wiśniewski', 'Wójcik', 'Kamiński', 'Lewandowski', 'Zieliński', 'Szymański', 'Dvořák', 'Novotný',
  'Horváth', 'Nagy', 'Kovács', 'Szabó', 'Popescu', 'Ionescu', 'Petrov', 'Ivanov', 'Smirnov', 'Kuznetsov',
  'Shevchenko', 'Bondarenko', 'Papadopoulos', 'Georgiou', 'Nikolaidis', 'Yılmaz', 'Kaya', 'Demir', 'Şahin', 'Çelik',
  // Arabic, Persian, Hebrew
  'Haddad', 'Khalil', 'Mansour', 'Nasser', 'Saleh', 'Hussein', 'Abdallah', 'Farouk', 'Rahimi', 'Hosseini',
  'Karimi', 'Moradi', 'Tehrani', 'Cohen', 'Levi', 'Mizrahi', 'Friedman', 'Katz',
  // South Asian
  'Patel', 'Sharma', 'Singh', 'Kumar', 'Gupta', 'Reddy', 'Iyer', 'Nair', 'Chatterjee', 'Banerjee',
  'Mukherjee', 'Desai', 'Mehta', 'Joshi', 'Kapoor', 'Malhotra', 'Rao', 'Pillai', 'Khan', 'Chaudhry',
  'Rahman', 'Hossain', 'Perera', 'Fernando',
  // East and Southeast Asian
  'Wang', 'Li', 'Zhang', 'Liu', 'Chen', 'Yang', 'Huang', 'Zhao', 'Wu', 'Zhou',
  'Xu', 'Sun', 'Ma', 'Zhu', 'Hu', 'Guo', 'He', 'Lin', 'Luo', 'Tang',
  'Sato', 'Suzuki', 'Takahashi', 'Tanaka', 'Watanabe', 'Ito', 'Yamamoto', 'Nakamura', 'Kobayashi', 'Kato',
  'Kim', 'Lee', 'Park', 'Choi', 'Jung', 'Kang', 'Cho', 'Yoon', 'Nguyen', 'Tran',
  'Le', 'Pham', 'Hoang', 'Vu', 'Dang', 'Bui', 'Reyes', 'Bautista', 'Villanueva', 'Dela Cruz',
  // African
  'Okafor', 'Okonkwo', 'Adeyemi', 'Balogun', 'Eze', 'Nwosu', 'Mensah', 'Owusu', 'Boateng', 'Asante',
  'Kamau', 'Otieno', 'Mwangi', 'Wanjiru', 'Tesfaye', 'Bekele', 'Haile', 'Diallo', 'Traoré', 'Ndiaye',
  'Dlamini', 'Nkosi', 'Mokoena', 'Khumalo',
];

export const FEMALE_GIVEN_NAMES: readonly string[] = [
  'Mary', 'Patricia', 'Jennifer', 'Linda', 'Elizabeth', 'Barbara', 'Susan', 'Jessica', 'Sarah', 'Karen',
  'Nancy', 'Lisa', 'Margaret', 'Sandra', 'Ashley', 'Emily', 'Michelle', 'Amanda', 'Melissa', 'Deborah',
  'Stephanie', 'Rebecca', 'Laura', 'Sharon', 'Cynthia', 'Kathleen', 'Amy', 'Anna', 'Angela', 'Ruth',
  'Olivia', 'Emma', 'Ava', 'Sophia', 'Isabella', 'Mia', 'Charlotte', 'Amelia', 'Harper', 'Evelyn',
  'María', 'Lucía', 'Carmen', 'Sofía', 'Valentina', 'Camila', 'Ana', 'Beatriz', 'Giulia', 'Francesca',
  'Chiara', 'Léa', 'Chloé', 'Camille', 'Manon', 'Hannah', 'Lena', 'Johanna', 'Ingrid', 'Astrid',
  'Agnieszka', 'Katarzyna', 'Olga', 'Elena', 'Irina', 'Zeynep', 'Elif', 'Fatima', 'Aisha', 'Layla',
  'Maryam', 'Noor', 'Yasmin', 'Priya', 'Ananya', 'Kavya', 'Lakshmi', 'Deepa', 'Mei', 'Xiu',
  'Li Na', 'Yuki', 'Sakura', 'Haruka', 'Ji-woo', 'Seo-yeon', 'Linh', 'Thao', 'Amara', 'Ngozi',
  'Chiamaka', 'Abena', 'Akosua', 'Wanjiku', 'Makena', 'Aster', 'Fatou', 'Aminata', 'Thandiwe', 'Nomvula',
];

export const MALE_GIVEN_NAMES: readonly string[] = [
  'James', 'Robert', 'John', 'Michael', 'David', 'William', 'Richard', 'Joseph', 'Thomas', 'Charles',
  'Christopher', 'Daniel', 'Matthew', 'Anthony', 'Mark', 'Donald', 'Steven', 'Paul', 'Andrew', 'Joshua',
  'Kenneth', 'Kevin', 'Brian', 'George', 'Timothy', 'Ronald', 'Edward', 'Jason', 'Jeffrey', 'Ryan',
  'Liam', 'Noah', 'Oliver', 'Elijah', 'Lucas', 'Mason', 'Logan', 'Ethan', 'Aiden', 'Samuel',
  'José', 'Luis', 'Carlos', 'Javier', 'Miguel', 'Alejandro', 'João', 'Pedro', 'Giuseppe', 'Marco',
  'Luca', 'Matteo', 'Louis', 'Hugo', 'Jules', 'Lukas', 'Felix', 'Jonas', 'Lars', 'Erik',
  'Piotr', 'Tomasz', 'Jakub', 'Dmitri', 'Sergei', 'Mehmet', 'Mustafa', 'Ahmed', 'Omar', 'Youssef',
  'Ali', 'Hassan', 'Reza', 'Arjun', 'Rahul', 'Vikram', 'Sanjay', 'Ravi', 'Wei', 'Jun',
  'Hao', 'Hiroshi', 'Kenji', 'Takumi', 'Min-jun', 'Seo-jun', 'Minh', 'Duc', 'Chinedu', 'Emeka',
  'Obinna', 'Kwame', 'Kofi', 'Kipchoge', 'Baraka', 'Dawit', 'Mamadou', 'Ousmane', 'Sipho', 'Thabo',
];
